"""The carrier: a parcel carrier that reports shipment events for the ERP's order lines.

Each simulated business day the carrier drops one JSON-lines file into a landing folder
(see :mod:`source_systems.carrier.feed` for the format and the mess it contains).
"""
