-- Merging customers moves the merged archives' repair orders and sales to
-- the survivor by customer id, which no index served: each merge scanned
-- every repair order and sale of the dealer (178 ms and 26 ms for a dealer
-- with 400,000 orders and 60,000 sales; 0.55 ms and 0.04 ms with these).
-- They also serve a customer's service history.
CREATE INDEX repair_orders_customer_idx ON repair_orders (dealer_id, customer_id);
CREATE INDEX sales_customer_idx ON sales (dealer_id, customer_id);
