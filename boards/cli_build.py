"""`spikeforge build`: see :mod:`.commands`."""

from .commands import build as _command

add_arguments = _command.add_arguments
run = _command.run
