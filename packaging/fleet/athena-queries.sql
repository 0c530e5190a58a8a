-- Fleet questions over demarc_records (athena-table.sql). Each query follows
-- a "-- name:" line. Narrow dt (and instance where you can): projection
-- prunes partitions, so a day costs a day's scan.

-- name: failed checks by instance, today
SELECT instance, finding.severity, finding.rule_id, finding.title, finding.observed, finding.source
FROM demarc_records
WHERE dt = date_format(current_date, '%Y-%m-%d') AND instance = 'INSTANCE_ID'
  AND finding.status = 'CHECK_STATUS_FAIL'
ORDER BY finding.severity DESC, finding.rule_id;

-- name: new listening ports on an instance this week (not listening the week before)
SELECT DISTINCT network.protocol, network.local_address, network.local_port, network.comm
FROM demarc_records
WHERE instance = 'INSTANCE_ID' AND dt >= date_format(current_date - interval '7' day, '%Y-%m-%d')
  AND network.kind = 'KIND_LISTEN'
  AND network.local_port NOT IN (
    SELECT network.local_port FROM demarc_records
    WHERE instance = 'INSTANCE_ID' AND network.kind = 'KIND_LISTEN'
      AND dt BETWEEN date_format(current_date - interval '14' day, '%Y-%m-%d')
                 AND date_format(current_date - interval '8' day, '%Y-%m-%d'));

-- name: executions by a user (uid) in a day
SELECT "time", process.pid, process.executable, array_join(process.argv, ' ') AS command_line,
       process.cwd, process.exec_id
FROM demarc_records
WHERE instance = 'INSTANCE_ID' AND dt = 'YYYY-MM-DD' AND process.kind = 'KIND_EXEC'
  AND process.uid = 1000
ORDER BY "time";

-- name: processes that connected to an address
SELECT "time", network.comm, network.pid, network.exec_id, network.remote_port, network.uid
FROM demarc_records
WHERE instance = 'INSTANCE_ID' AND dt = 'YYYY-MM-DD' AND network.kind = 'KIND_CONNECT'
  AND network.remote_address = '203.0.113.7'
ORDER BY "time";

-- name: instances whose heartbeats stopped (none in the last 10 minutes)
-- (instance is an injected partition: list the fleet's instance ids)
SELECT instance, max(from_iso8601_timestamp("time")) AS last_heartbeat
FROM demarc_records
WHERE dt >= date_format(current_date - interval '1' day, '%Y-%m-%d')
  AND instance IN ('INSTANCE_ID', 'OTHER_INSTANCE_ID') AND heartbeat.state IS NOT NULL
GROUP BY instance
HAVING max(from_iso8601_timestamp("time")) < current_timestamp - interval '10' minute
ORDER BY last_heartbeat;
