"""The ERP: TPC-H tables in an OLTP database, built at day 0 and moved forward by days."""
