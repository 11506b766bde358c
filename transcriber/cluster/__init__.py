"""`--cluster ray`: the model stages of a batch on Ray actors, everything else in this process.

Only recognition, diarization and the LLM cleanup move: discovery, the lock, the manifest, the raw cache,
rules cleanup, the writers and the summary stay in the driver (`transcriber.batch.Batch`), so a cluster
run writes the same files as a local one and resumes the same way. `connect` joins or starts a cluster,
`worker` is what runs on each actor, `pool` keeps files flowing to the actors and survives their deaths,
`stages` ties them to the batch. Ray itself is imported only inside functions: it is an optional extra.
"""
