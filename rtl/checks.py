"""Constructor checks for gateware components.

A component refuses a bad parameter before it builds anything.  Amaranth warns about every
``Elaboratable`` that is created and never elaborated, which would turn each refused constructor
call into a spurious warning; :func:`refuse` silences that warning and raises.
"""

__all__ = ["refuse"]


def refuse(component, exc):
    """Mark ``component`` as deliberately unused and raise ``exc``."""
    component._MustUse__silence = True
    raise exc
