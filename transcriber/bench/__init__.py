"""`transcriber bench`: compare configurations on your own recordings, with a report and a chart."""
