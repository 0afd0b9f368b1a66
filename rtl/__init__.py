"""Amaranth gateware of the spikeforge neuromorphic array."""
