"""The official OpenAI Python client against the router (real processes on
loopback): completions, chat, streaming, extension fields, errors, API keys.
The router's text must equal `twotower generate --connect` for the same greedy
request. Usage: openai_client_test.py TWOTOWER_BINARY SOURCE_DIR"""
import os
import sys

import openai

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_cluster import Cluster  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    binary, source = sys.argv[1], sys.argv[2]
    model = os.path.join(source, "models", "default")
    prompt = "In the beginning"  # a prose opening: the default model continues it at length
    with Cluster(binary, model, ["--api-key", "sk-test"]) as c:
        client = openai.OpenAI(base_url=c.url + "/v1", api_key="sk-test", max_retries=0, timeout=120)

        models = client.models.list()
        check([m.id for m in models.data] == ["default"], "models.list names the served model")
        check(client.models.retrieve("default").id == "default", "models.retrieve")

        for mode in ("diffusion", "ar"):
            truth = c.generate_connect(["--prompt", prompt, "--max-tokens", "32", "--mode", mode])
            r = client.completions.create(model="default", prompt=prompt, max_tokens=32, extra_body={"mode": mode})
            check(r.choices[0].text == truth["text"], f"completions.create ({mode}) equals generate --connect")
            check(r.choices[0].finish_reason == truth["finish_reason"], f"finish_reason ({mode})")
            check(r.usage.completion_tokens == truth["generated_tokens"], f"usage.completion_tokens ({mode})")
            check(r.usage.prompt_tokens == truth["prompt_tokens"], f"usage.prompt_tokens ({mode})")
            extra = r.model_extra.get("twotower", {})
            check(extra.get("denoiser_forwards") == truth["denoiser_forwards"], f"twotower.denoiser_forwards ({mode})")

            chunks = list(client.completions.create(model="default", prompt=prompt, max_tokens=32, stream=True,
                                                    extra_body={"mode": mode}))
            text = "".join(ch.choices[0].text for ch in chunks)
            check(text == truth["text"], f"streamed completion ({mode}) equals generate --connect")
            check(chunks[-1].choices[0].finish_reason == truth["finish_reason"], f"last chunk finish_reason ({mode})")

        truth = c.generate_connect(["--prompt", "User: Hello there\nAssistant:", "--max-tokens", "24"])
        chat = client.chat.completions.create(model="default", max_tokens=24, stop=[],
                                              messages=[{"role": "user", "content": "Hello there"}])
        check(chat.choices[0].message.role == "assistant", "chat message role")
        check(chat.choices[0].message.content == truth["text"], "chat content equals the template's generation")
        stream = client.chat.completions.create(model="default", max_tokens=24, stop=[], stream=True,
                                                messages=[{"role": "user", "content": "Hello there"}])
        text = "".join(ch.choices[0].delta.content or "" for ch in stream)
        check(text == truth["text"], "streamed chat equals the non-streamed chat")

        exact = {"ignore_eos": True}  # 48 tokens whatever the model, so the text is long enough to cut
        full = client.completions.create(model="default", prompt=prompt, max_tokens=48, extra_body=exact).choices[0].text
        check(len(full) > 24, "ignore_eos gives the whole length")
        stop = full[20:24]
        r = client.completions.create(model="default", prompt=prompt, max_tokens=48, stop=[stop], extra_body=exact)
        check(r.choices[0].text == full[:full.find(stop)] and r.choices[0].finish_reason == "stop",
              "stop sequence cuts the text")

        def raises(kind, fn, what):
            try:
                fn()
                check(False, what + " raised " + kind.__name__)
            except kind as e:
                check(True, what + " raised " + kind.__name__)
                body = getattr(e, "body", None) or {}
                check(isinstance(body, dict) and "message" in body and "type" in body, what + " has an error object")

        raises(openai.NotFoundError, lambda: client.completions.create(model="nope", prompt="x", max_tokens=4),
               "unknown model")
        raises(openai.BadRequestError, lambda: client.completions.create(model="default", prompt="x", max_tokens=0),
               "max_tokens=0")
        raises(openai.BadRequestError,
               lambda: client.completions.create(model="default", prompt="x", max_tokens=4, temperature=9),
               "temperature=9")
        raises(openai.BadRequestError,
               lambda: client.completions.create(model="default", prompt="x", max_tokens=100000),
               "context length exceeded")
        raises(openai.BadRequestError,
               lambda: client.chat.completions.create(model="default", messages=[{"role": "robot", "content": "x"}]),
               "unknown chat role")
        bad_key = openai.OpenAI(base_url=c.url + "/v1", api_key="wrong", max_retries=0)
        raises(openai.AuthenticationError, lambda: bad_key.models.list(), "wrong API key")
        check(c.router_alive(), "the router is still running")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
