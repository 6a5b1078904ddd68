# The federation root's rotation, step by step (README: Rotating the root): one root, then the new one next to it
# (every cluster's root set holds both), then the new one alone; and the lists refused at plan time. Run offline:
# `terraform init && terraform test` here (no provider). The certificates are stand-ins: this module checks their
# form and publishes them; TerraformModuleTest renders the steps with real roots and loads them as the gateway does.

variables {
  root_certificates_pem = ["-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n"]
}

run "step_0_one_root" {
  command = plan
  assert {
    condition     = output.root_certificate_pem == "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n"
    error_message = "One root is published as it is."
  }
}

run "step_1_the_new_root_next_to_the_old_one" {
  command = plan
  variables {
    root_certificates_pem = [
      "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----",
      "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n",
    ]
  }
  assert {
    condition     = output.root_certificate_pem == "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n"
    error_message = "Both roots are published, each a whole PEM block on its own lines, the old one first."
  }
}

run "step_2_the_old_root_removed" {
  command = plan
  variables {
    root_certificates_pem = ["-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n"]
  }
  assert {
    condition     = output.root_certificate_pem == "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n"
    error_message = "Only the new root is published."
  }
}

# ---- refused ----

run "no_root" {
  command = plan
  variables {
    root_certificates_pem = []
  }
  expect_failures = [var.root_certificates_pem]
}

run "a_third_root_before_the_old_one_was_removed" {
  command = plan
  variables {
    root_certificates_pem = [
      "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIBnewer\n-----END CERTIFICATE-----\n",
    ]
  }
  expect_failures = [var.root_certificates_pem]
}

run "the_same_root_added_twice" {
  command = plan
  variables {
    root_certificates_pem = [
      "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----",
    ]
  }
  expect_failures = [var.root_certificates_pem]
}

run "two_roots_in_one_entry" {
  command = plan
  variables {
    root_certificates_pem = ["-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n"]
  }
  expect_failures = [var.root_certificates_pem]
}

run "the_new_roots_key_next_to_it" {
  command = plan
  variables {
    root_certificates_pem = [
      "-----BEGIN CERTIFICATE-----\nMIIBold\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    ]
  }
  expect_failures = [var.root_certificates_pem]
}
