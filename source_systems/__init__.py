"""The demo source world: the systems a wholesale distributor runs (ERP first)."""
