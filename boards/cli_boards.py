"""`spikeforge boards`: see :mod:`.commands`."""

from .commands import boards as _command

add_arguments = _command.add_arguments
run = _command.run
