// Runs the embedded network (namespace lenet: n2d2c_add_model's NAME) on a fixed input
// and prints each output value on its own line.
#include <cstdio>

#include "network.hpp"

int main()
{
    static lenet::input_t input[lenet::INPUT_SIZE[0]];
    static lenet::output_t output[lenet::OUTPUT_SIZE[0]];
    // A deterministic pattern in [-0.5, 0.5): the tests feed the same one to n2d2c.run.
    for (int i = 0; i < lenet::INPUT_SIZE[0]; ++i)
        input[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
    lenet::run(input, output);
    for (int j = 0; j < lenet::OUTPUT_SIZE[0]; ++j)
        std::printf("%.9g\n", static_cast<double>(output[j]));
    return 0;
}
