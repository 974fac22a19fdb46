"""Models: the catalogue, building a plugin's model, resolving trained weights, adapting them to
other classes or channels, the factory that puts these together, named parts, facts, predict."""
