/* Runs the embedded network (prefix digits_: n2d2c_add_model's NAME) on a fixed input
 * and prints every output as "@out <index> <IEEE-754 bits in hex>" through semihosting
 * (n2d2c_write and the exit status come with the generated startup.c). */
#include <stdint.h>
#include <string.h>

#include "network.h"

void n2d2c_write(const char* text);

static float input[DIGITS_INPUT0_SIZE];
static float output[DIGITS_OUTPUT0_SIZE];

static void write_output(int index, float value)
{
    static const char hex[] = "0123456789abcdef";
    char line[32] = "@out ";
    char* p = line + 5;
    uint32_t bits;
    int shift;
    memcpy(&bits, &value, sizeof bits);
    if (index >= 10) *p++ = (char)('0' + index / 10 % 10);
    *p++ = (char)('0' + index % 10);
    *p++ = ' ';
    for (shift = 28; shift >= 0; shift -= 4) *p++ = hex[(bits >> shift) & 0xFu];
    *p++ = '\n';
    *p = '\0';
    n2d2c_write(line);
}

int main(void)
{
    int i;
    /* A deterministic pattern in [-0.5, 0.5): the tests feed the same one to n2d2c.run. */
    for (i = 0; i < DIGITS_INPUT0_SIZE; ++i) input[i] = (float)(i % 17) / 17.0f - 0.5f;
    {
        const float* inputs[1] = {input};
        float* outputs[1] = {output};
        digits_run(inputs, outputs);
    }
    for (i = 0; i < DIGITS_OUTPUT0_SIZE; ++i) write_output(i, output[i]);
    return 0;
}
