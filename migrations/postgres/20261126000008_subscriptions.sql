-- Stripe subscriptions become their own record type (plan, renewal, interval)
-- instead of orders of kind "subscription". The cached copies are dropped with
-- the stream's checkpoint, so the next run of each Stripe `subscriptions` stream
-- is a full one and brings them back in the new shape. (Only cached upstream data
-- is removed: Stripe keeps the originals.)
DELETE FROM records
WHERE record_type = 'order'
  AND stream = 'subscriptions'
  AND source_instance_id IN (SELECT id FROM connector_instances WHERE kind = 'stripe');
DELETE FROM sync_checkpoints
WHERE stream = 'subscriptions'
  AND connector_instance_id IN (SELECT id FROM connector_instances WHERE kind = 'stripe');
