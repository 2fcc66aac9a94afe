"""The template repository's own tooling: bake the template, check a bake, run its pipeline.

tasks.py, noxfile.py and the tests call into here; nothing here is shipped in a baked project.
"""
