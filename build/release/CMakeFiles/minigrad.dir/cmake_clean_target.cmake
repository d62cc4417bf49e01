file(REMOVE_RECURSE
  "libminigrad.a"
)
