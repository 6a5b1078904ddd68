terraform {
  required_version = ">= 1.9"
  required_providers {
    tls = {
      source = "hashicorp/tls"
      # 4.x: max_path_length, set_subject_key_id and early_renewal_hours as used here.
      version = "~> 4.0"
    }
  }
}
