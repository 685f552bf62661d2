-- One audit event per throttled subject (an email or a source address) per
-- window: refused attempts are not written one by one, so hammering a throttled
-- sign-in cannot grow the permanent audit log.
CREATE TABLE login_throttle_notices (
    subject TEXT PRIMARY KEY,
    noticed_until TIMESTAMPTZ NOT NULL
);
