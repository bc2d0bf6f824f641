"""The baseline: a bot that only verifies the signature and replies (line-bot-sdk's echo shape)."""

from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent


def create_app() -> Flask:
    app = Flask(__name__)
    parser = WebhookParser(os.environ["LINE_CHANNEL_SECRET"])
    config = Configuration(host=os.environ["LINE_API_BASE_URL"],
                           access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"])
    api = MessagingApi(ApiClient(config))

    @app.post("/callback")
    def callback():
        body = request.get_data(as_text=True)
        try:
            events = parser.parse(body, request.headers.get("X-Line-Signature", ""))
        except InvalidSignatureError:
            abort(400)
        for event in events:
            if isinstance(event, MessageEvent):
                api.reply_message(ReplyMessageRequest(
                    reply_token=event.reply_token,
                    messages=[TextMessage(text=event.message.text)]), _request_timeout=(3, 10))
        return "OK"

    return app
