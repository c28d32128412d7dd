"""pytest plugin of ossresume_c (fixtures arrive with the emulator)."""
