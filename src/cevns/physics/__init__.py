"""Physics layer: constants, nuclei, kinematics, form factors, fluxes and cross sections.

Pure NumPy: every function is vectorised over arrays of neutrino energy E and recoil energy T,
has no I/O beyond reading the package's own data tables, and no global state.
"""
