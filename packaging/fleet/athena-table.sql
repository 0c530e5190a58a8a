-- demarc evidence in S3, one row per record (JSON line), for Athena.
-- Replace EVIDENCE_BUCKET, EVIDENCE_PREFIX, and the account and region lists.
-- Partition projection: account and region from the lists below, instance
-- given in the query (instance = 'i-...' or IN (...)), dt from 2026-01-01
-- on. For questions across every instance without listing them, CloudWatch
-- Logs Insights (logs-insights-queries.txt) or a copy of this table without
-- projection (MSCK REPAIR TABLE after new instances appear).
-- Field names are the proto names of record.proto; 64-bit integers are JSON
-- strings (cast them); enums are their names (CHECK_STATUS_FAIL, ...).
-- Batch header and seal lines are rows too (header IS NOT NULL / seal ...);
-- only `demarc verify` checks signatures: query what it verified.
CREATE EXTERNAL TABLE IF NOT EXISTS demarc_records (
  `time` string,
  header struct<agent_id:string, key_id:string, sequence:string, prev_digest:string,
                record_count:int, agent_version:string, drops:map<string,string>>,
  enrollment struct<agent_id:string, key_id:string, algorithm:string>,
  finding struct<rule_id:string, title:string, status:string, severity:string,
                 observed:string, expected:string, source:string,
                 `references`:map<string,string>, remediation:string, scan_id:string,
                 pack:string>,
  inventory struct<kind:string, name:string, attributes:map<string,string>, source:string,
                   scan_id:string>,
  scan struct<scan_id:string, root:string, os:string, rules:int, pass:int, fail:int,
              not_applicable:int, error:int>,
  process struct<kind:string, pid:int, ppid:int, uid:int, gid:int, euid:int, egid:int,
                 loginuid:bigint, comm:string, executable:string, argv:array<string>, cwd:string,
                 exec_id:string, parent_exec_id:string, exit_code:int, signal:int,
                 exe_sha256:string, privileges_gained:array<string>>,
  network struct<kind:string, pid:int, exec_id:string, protocol:string, local_address:string,
                 local_port:int, remote_address:string, remote_port:int, bytes_sent:string,
                 bytes_received:string, uid:int, comm:string, failed:boolean,
                 packets_sent:string, packets_received:string>,
  privilege struct<kind:string, syscall:string, pid:int, exec_id:string, comm:string,
                   result:string, target_pid:int, name:string>,
  heartbeat struct<state:string, agent_version:string, binary_sha256:string,
                   config_sha256:string, interval_ms:string, pending_records:string,
                   sink_backlog:map<string,string>>,
  gap struct<reason:string, `from`:string, `to`:string, records_lost:string, detail:string>
)
PARTITIONED BY (account string, region string, instance string, dt string)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://EVIDENCE_BUCKET/EVIDENCE_PREFIX/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.account.type' = 'enum',
  'projection.account.values' = '111122223333',
  'projection.region.type' = 'enum',
  'projection.region.values' = 'us-east-1,eu-west-1',
  'projection.instance.type' = 'injected',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2026-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://EVIDENCE_BUCKET/EVIDENCE_PREFIX/account=${account}/region=${region}/instance=${instance}/dt=${dt}'
);
