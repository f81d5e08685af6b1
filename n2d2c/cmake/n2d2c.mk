# n2d2c for Make projects (GNU Make 4.2+): the network's code generated at build time.
#
#   include $(shell n2d2c --cmake-dir)/n2d2c.mk
#   $(eval $(call n2d2c_add_model,digits,model.onnx,stm32,-X mcu=cortex-m4))
#   app.elf: main.o $(digits_LIB)      # CFLAGS += $(digits_CFLAGS)
#
# n2d2c_add_model(NAME, MODEL, BACKEND, OPTIONS) defines
#   NAME_DIR     the generated project: $(N2D2C_BUILD_DIR)/NAME
#   NAME_SRCS    its library sources (network, weights); NAME_HDRS its headers
#   NAME_LIB     $(N2D2C_BUILD_DIR)/libNAME.a, built with $(CC)/$(CXX), $(CFLAGS)/$(CXXFLAGS)
#   NAME_CFLAGS  -I$(NAME_DIR)
# and regenerates the project exactly when an input changes: the model, every file
# n2d2c read for it (its depfile) or the n2d2c command line. Generated files whose
# bytes do not change keep their modification time, so nothing recompiles needlessly.
# OPTIONS are more `n2d2c compile` arguments (-X key=value, --nbbits 8 --calib-data ...).

N2D2C ?= n2d2c
# A new n2d2c release regenerates the code as well.
N2D2C_VERSION_FILE := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../version.py)
N2D2C_BUILD_DIR ?= build/n2d2c
AR ?= ar

n2d2c_sources_cpp := network.cpp weights.cpp
n2d2c_headers_cpp := network.hpp weights.hpp n2d2c_support.hpp
n2d2c_sources_c := network.c weights.c
n2d2c_headers_c := network.h weights.h n2d2c_support.h
n2d2c_sources_stm32 := $(n2d2c_sources_c)
n2d2c_headers_stm32 := $(n2d2c_headers_c)

define n2d2c_add_model
$(if $(n2d2c_sources_$(3)),,$(error n2d2c_add_model($(1)): backend '$(3)' is not cpp, c or stm32))
# These rules must not become the including Makefile's default goal.
n2d2c_saved_goal := $$(.DEFAULT_GOAL)
$(1)_DIR := $(N2D2C_BUILD_DIR)/$(1)
$(1)_STAMP := $(N2D2C_BUILD_DIR)/$(1).stamp
$(1)_SRCS := $$(addprefix $$($(1)_DIR)/,$(n2d2c_sources_$(3)))
$(1)_HDRS := $$(addprefix $$($(1)_DIR)/,$(n2d2c_headers_$(3)))
$(1)_OBJS := $$(patsubst $$($(1)_DIR)/%,$(N2D2C_BUILD_DIR)/$(1).obj/%.o,$$($(1)_SRCS))
$(1)_LIB := $(N2D2C_BUILD_DIR)/lib$(1).a
$(1)_CFLAGS := -I$$($(1)_DIR)
$(1)_COMMAND := $(N2D2C) compile $(2) --backend $(3) --name $(1) -o $$($(1)_DIR) -X stimuli=0 $(4)

# The command line is an input too: it is kept in a file rewritten only when it changes.
$$(shell mkdir -p $(N2D2C_BUILD_DIR))
ifneq ($$(file <$(N2D2C_BUILD_DIR)/$(1).command),$$($(1)_COMMAND))
$$(file >$(N2D2C_BUILD_DIR)/$(1).command,$$($(1)_COMMAND))
endif

$$($(1)_STAMP): $(2) $(N2D2C_BUILD_DIR)/$(1).command $(N2D2C_VERSION_FILE)
	$$($(1)_COMMAND) --depfile $(N2D2C_BUILD_DIR)/$(1).d --depfile-target $$@
	@touch $$@

# The generated files come with the stamp; an empty recipe lets Make see that their
# times did not change, so what depends on them is not rebuilt.
$$($(1)_SRCS) $$($(1)_HDRS): $$($(1)_STAMP) ;

$(N2D2C_BUILD_DIR)/$(1).obj/%.c.o: $$($(1)_DIR)/%.c $$($(1)_HDRS)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$($(1)_CFLAGS) -c $$< -o $$@

$(N2D2C_BUILD_DIR)/$(1).obj/%.cpp.o: $$($(1)_DIR)/%.cpp $$($(1)_HDRS)
	@mkdir -p $$(@D)
	$$(CXX) $$(CXXFLAGS) $$($(1)_CFLAGS) -c $$< -o $$@

$$($(1)_LIB): $$($(1)_OBJS)
	rm -f $$@
	$$(AR) rcs $$@ $$^

-include $(N2D2C_BUILD_DIR)/$(1).d
.DEFAULT_GOAL := $$(n2d2c_saved_goal)
endef
