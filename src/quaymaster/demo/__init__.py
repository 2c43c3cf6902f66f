"""Steps of ``quaymaster demo`` beyond the fleet: querying and placing."""
