-- A vehicle 90 days past its maintenance is at risk of churn; its workflow
-- marks every dealer's archive of the VIN and clears the mark when it
-- comes back (SegmentService.MarkChurnRisk). Win-back campaigns select it.
ALTER TABLE vehicles ADD COLUMN churn_risk_since timestamptz;
