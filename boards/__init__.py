"""FPGA board targets (iCEBreaker, ULX3S, OrangeCrab)."""
