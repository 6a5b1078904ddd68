# Provider-free on purpose: this module only computes the Kubernetes objects, so they can be rendered and
# tested offline (terraform/test/render) and applied by the parent module with any provider version.
terraform {
  # 1.9: a variable's validation may refer to other variables (the intermediate is given one way or the other).
  required_version = ">= 1.9"
}
