/** The description of every `path` argument, shown in Python docstrings. */
export const PATH_DESCRIPTION =
  'Path relative to the default root, or "name:relative/path" for the root called name. Absolute paths and ".." out of the root are refused.'
