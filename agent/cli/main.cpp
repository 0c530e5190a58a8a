#include "agent/cli/app.h"

int main(int argc, char** argv) { return demarc::cli::main(argc, argv); }
