-- The staff's portal-use report counts audit events by action over a period
-- (sign-ins, downloads, invoices viewed, payments begun, requests opened): an
-- index range per action instead of reading every event of the period.
CREATE INDEX audit_events_by_action ON audit_events(action, occurred_at);
