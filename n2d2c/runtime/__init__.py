"""Reference simulator: executes IR graphs with numpy / numba kernels.

    from n2d2c.runtime import simulate
    outputs = simulate(graph, {"input": x})          # {output name: array}
    outputs = simulate(graph, feeds, profile=True)
    outputs.profile                                   # [(op_name, op_type, seconds)]
    print(format_profile(outputs.profile))

    sim = Simulator(graph)                            # verify + resolve kernels once
    sim.run(feeds, profile=True); sim.last_profile

Kernels are looked up per (device, op class, element type) in
``n2d2c.runtime.registry``; the built-in ones live in ``n2d2c.runtime.kernels``.
"""

from .registry import ANY, FLOAT, INTEGER, find_kernel, kernel, registered
from .simulator import ProfileEntry, SimulationResult, Simulator, format_profile, simulate

__all__ = ["ANY", "FLOAT", "INTEGER", "ProfileEntry", "SimulationResult", "Simulator",
           "find_kernel", "format_profile", "kernel", "registered", "simulate"]
