"""Sample texts, one click to load: each shows a different side of a language model."""

SAMPLES = {
    "Prose": (
        "The lighthouse keeper had not spoken to anyone in three weeks. Every evening he climbed the "
        "spiral stairs, trimmed the wick, and watched the beam sweep across the water. On the twenty-second "
        "night, a small boat appeared at the edge of the light, drifting without oars. He put on his coat, "
        "took the lantern from its hook, and went down to the rocks to meet it."
    ),
    "Code": (
        "def fibonacci(n):\n"
        "    \"\"\"Return the first n Fibonacci numbers.\"\"\"\n"
        "    numbers = [0, 1]\n"
        "    while len(numbers) < n:\n"
        "        numbers.append(numbers[-1] + numbers[-2])\n"
        "    return numbers[:n]\n"
        "\n"
        "\n"
        "for value in fibonacci(10):\n"
        "    print(value)\n"
    ),
    "Arithmetic": (
        "2 + 2 = 4\n"
        "7 + 5 = 12\n"
        "9 * 3 = 27\n"
        "15 - 8 = 7\n"
        "12 * 12 = 144\n"
        "100 / 4 = 25\n"
        "37 + 48 = 85\n"
        "23 * 17 = 391\n"
    ),
    "Dialogue": (
        "Customer: Hi, I ordered a blue jacket last week but I received a green one.\n"
        "Agent: I'm sorry about that! Could you give me your order number?\n"
        "Customer: Sure, it's 48213.\n"
        "Agent: Thank you. I can see the mistake. I'll send you the blue jacket today, and you can keep "
        "the green one.\n"
        "Customer: Oh, that's very kind. Thanks a lot!\n"
        "Agent: You're welcome. Have a great day!\n"
    ),
    "List": (
        "Shopping list for the week:\n"
        "- eggs\n"
        "- milk\n"
        "- bread\n"
        "- butter\n"
        "- tomatoes\n"
        "- onions\n"
        "- rice\n"
        "- olive oil\n"
        "- coffee\n"
    ),
}
