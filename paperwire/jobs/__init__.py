"""Background jobs: what runs behind `paperwire serve` and `paperwire worker`, and how.

runs.py records a piece of work as a job run (what /status lists); runner.py
runs jobs, once or in threads, under their leases (leases.py) when they are
shared across processes; table.py is the one table of jobs built from
settings. What each job does lives in its domain module (harvest.py,
search/pipeline.py, search/service.py), which may use runs.py but never the
runner or the table. This file imports nothing, so a domain module importing
runs.py does not pull in the table.
"""
