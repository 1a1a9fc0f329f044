"""ADS: answers to the questions operators ask."""
