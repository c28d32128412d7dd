"""Test helpers for users of ossresume_c: a pytest plugin with an emulator fixture and hypothesis strategies."""
