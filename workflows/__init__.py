"""varbind.workflows: Dask batch jobs for HPC built on the scoring core."""
