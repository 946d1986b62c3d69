"""The process around a run: console, numeric precision, CPU memory, progress bars, command names, config checks,
shipped files, atomic writes."""
