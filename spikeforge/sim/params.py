"""The two ends of the parameter channel between a pytest wrapper and a cocotb test module.

The wrapper (:meth:`spikeforge.sim.Build.run`) writes the run's parameters as JSON and passes
the file's path in the environment variable :data:`PARAMS_ENV`; the cocotb module reads them
with :func:`load_params`.  Results flow back the same way: the cocotb module calls
:func:`write_results` (path in :data:`RESULTS_ENV`) and the wrapper reads them from
:attr:`RunResult.results`.  This module imports neither cocotb nor Amaranth, so both sides can
use it.
"""

import json
import os
from pathlib import Path

__all__ = ["PARAMS_ENV", "RESULTS_ENV", "load_params", "write_results"]

PARAMS_ENV = "SPIKEFORGE_COSIM_PARAMS"
RESULTS_ENV = "SPIKEFORGE_COSIM_RESULTS"


def load_params():
    """Return the parameters of this run (a dict); ``{}`` when run without a wrapper."""
    path = os.environ.get(PARAMS_ENV)
    if not path:
        return {}
    return json.loads(Path(path).read_text())


def write_results(results, name=None):
    """Merge ``results`` (a JSON-serializable dict) into this run's results file.

    With ``name``, the results are stored under that key (one per cocotb test of a module).
    Does nothing when run without a wrapper.
    """
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    if name is None:
        data.update(results)
    else:
        data[name] = results
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
