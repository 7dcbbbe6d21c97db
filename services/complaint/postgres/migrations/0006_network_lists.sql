-- Reads across dealers (/v1/dealers/-/complaints and …/notifications):
-- HQ's newest-first pages of the whole network, all of it or by state, and
-- the notifications of one role (HQ's L4, a region manager's L3) across
-- the network, each read in order from an index instead of sorting every
-- complaint. A region's dealers use these too, with the dealers as a
-- filter, or the per-dealer indexes.
CREATE INDEX complaints_network_idx ON complaints (create_time DESC, id DESC);
CREATE INDEX complaints_network_state_idx ON complaints (state, create_time DESC, id DESC);
CREATE INDEX notifications_network_idx ON notifications (create_time DESC, id);
CREATE INDEX notifications_network_role_idx ON notifications (recipient_role, create_time DESC, id);
