// Plotly's Japanese locale, registered with the plotly.js served from the installed package.
// The Python package ships no locale files, so this is plotly.js's own `ja` locale
// (lib/locales/ja.js of plotly.js, MIT licence, Copyright Plotly Technologies Inc.), limited to
// the texts our charts can show and with "Pan" corrected (upstream says 拡大, "zoom in").
// A file, not inline script: the staff Content-Security-Policy allows only 'self'.
"use strict";

window.Plotly.register({
  moduleType: "locale",
  name: "ja",
  dictionary: {
    "Autoscale": "自動ズーム",
    "Box Select": "矩形選択",
    "Compare data on hover": "ホバー中のデータを比較",
    "Double-click on legend to isolate one trace": "凡例をダブルクリックして1つのトレースを無効化します",
    "Double-click to zoom back out": "ダブルクリックでズームを戻します",
    "Download plot as a PNG": "PNGファイルでダウンロード",
    "Download plot": "ダウンロード",
    "Lasso Select": "投げ縄選択",
    "Pan": "移動",
    "Produced with Plotly.js": "Plotly.jsにより作成",
    "Reset": "リセット",
    "Reset axes": "軸をリセット",
    "Reset view": "ビューをリセット",
    "Reset views": "ビューをリセット",
    "Show closest data on hover": "ホバー時に一番近いデータを表示",
    "Snapshot succeeded": "スナップショットに成功",
    "Sorry, there was a problem downloading your snapshot!": "すみません、スナップショットダウンロードでエラーです!",
    "Taking snapshot - this may take a few seconds": "スナップショットを撮影",
    "Toggle Spike Lines": "スパイクラインのオンオフ",
    "Toggle show closest data on hover": "ホバー時に一番近いデータを表示のオンオフ",
    "Zoom": "ズーム",
    "Zoom in": "拡大",
    "Zoom out": "縮小",
    "trace": "トレース:",
    "new text": "新規テキスト",
  },
  format: {
    days: ["日曜日", "月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"],
    shortDays: ["日", "月", "火", "水", "木", "金", "土"],
    months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    date: "%Y/%m/%d",
  },
});
