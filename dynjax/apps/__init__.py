"""The commands: `dynjax train|sweep` (`cli`), `dynjax analyse` (`analyse`: the dynamics of a run's
snapshots) and `dynjax reproduce` (`reproduce`: the benchmark tables of benchmarks/results)."""
