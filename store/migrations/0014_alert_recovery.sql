-- The alert engine's hysteresis in time (IOC_ALERTS_RESOLVE_S): since when a firing alert's value
-- has been better than its threshold by the margin, so that a restarted evaluator goes on counting
-- instead of starting again. NULL unless the state is firing and the value has cleared the margin.

ALTER TABLE alert_states ADD COLUMN better_since timestamptz;
