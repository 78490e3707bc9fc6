"""What-if simulation: replay a day of buyer traffic through one or more policies and predict the
shop's service KPIs, above all the 3-minute reply rate (B19). See docs/simulation.md."""
from .agents import Behaviour
from .errors import SimulationInputError, SimulationLimitError, SimulationTimeout
from .roster import Roster, read_roster, roster_from_dict
from .run import SimulationOptions, options_from_dict, run_simulation
from .trace import Arrival, read_trace, trace_from_dicts

__all__ = [
    "Arrival", "Behaviour", "Roster", "SimulationInputError", "SimulationLimitError",
    "SimulationOptions", "SimulationTimeout", "options_from_dict", "read_roster", "read_trace", "roster_from_dict", "run_simulation",
    "trace_from_dicts",
]
