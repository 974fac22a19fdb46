"""Where and how a process computes: device and precision policy, torchrun's process group, and
the memory allocator's settings."""
