terraform {
  # 1.9: a variable's validation may refer to other variables (the intermediate is given one way or the other).
  required_version = ">= 1.9"
  required_providers {
    kubernetes = {
      source = "hashicorp/kubernetes"
      # 2.x only: 3.0 changes resources this module uses; move to it deliberately.
      version = "~> 2.23"
    }
  }
}
