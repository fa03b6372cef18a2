"""Developer tools: sample-export generator, local AWS, local gateway, demo, operator CLIs."""
