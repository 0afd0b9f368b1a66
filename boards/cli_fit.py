"""`spikeforge fit`: see :mod:`.commands`."""

from .commands import fit as _command

add_arguments = _command.add_arguments
run = _command.run
