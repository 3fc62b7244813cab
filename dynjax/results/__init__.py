"""What a run leaves on disk and what is computed from it: metrics.csv and summaries (`metrics`), the run
record config.json (`run_record`), and the statistics every table reports (`stats`: final / best / AUC scores,
IQM with bootstrap intervals, rank tests)."""
