# A header of `rtu-edge export --c-header` compiled into a firmware example (GNU make; see
# model_header.h). Set MODEL_HEADER=path/to/model.h and, when the export was given --name NAME,
# MODEL_NAME=NAME; this gives MODEL_ABS (the header's absolute path, for dependencies) and
# MODEL_FLAGS (the compiler flags model_header.h reads). Both are empty without MODEL_HEADER.
MODEL_NAME ?= model
MODEL_ABS :=
MODEL_FLAGS :=
ifneq ($(MODEL_HEADER),)
  MODEL_ABS := $(abspath $(MODEL_HEADER))
  MODEL_FLAGS := -DFW_MODEL_HEADER='"$(MODEL_ABS)"' \
                 -DFW_MODEL_LOWER=$(shell echo $(MODEL_NAME) | tr A-Z a-z) \
                 -DFW_MODEL_UPPER=$(shell echo $(MODEL_NAME) | tr a-z A-Z)
endif
