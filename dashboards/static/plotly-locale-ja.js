// Japanese for the plotly.js served from the installed Python package, which ships no locale
// files. Our own wording, limited to what our charts can show: the toolbar's tooltips, the
// legend hints, and the calendar names used on date axes.
// A file, not inline script: the staff Content-Security-Policy allows only 'self'.
"use strict";

window.Plotly.register({
  moduleType: "locale",
  name: "ja",
  dictionary: {
    "Autoscale": "全体を表示",
    "Box Select": "範囲を選択",
    "Compare data on hover": "重ねたときに全系列の値を表示",
    "Double-click on legend to isolate one trace": "凡例をダブルクリックするとその系列だけを表示します",
    "Double-click to zoom back out": "ダブルクリックで元の表示に戻ります",
    "Download plot as a PNG": "PNG画像として保存",
    "Download plot": "画像として保存",
    "Lasso Select": "自由な形で選択",
    "Pan": "表示位置を移動",
    "Produced with Plotly.js": "Plotly.js で作成",
    "Reset": "元に戻す",
    "Reset axes": "軸を元に戻す",
    "Reset view": "表示を元に戻す",
    "Reset views": "表示を元に戻す",
    "Show closest data on hover": "重ねたときに最も近い値を表示",
    "Snapshot succeeded": "画像を保存しました",
    "Sorry, there was a problem downloading your snapshot!": "画像を保存できませんでした。",
    "Taking snapshot - this may take a few seconds": "画像を作成しています（数秒かかることがあります）",
    "Toggle Spike Lines": "補助線の表示を切り替え",
    "Toggle show closest data on hover": "最も近い値の表示を切り替え",
    "Zoom": "拡大する範囲を選択",
    "Zoom in": "拡大",
    "Zoom out": "縮小",
    "trace": "系列",
    "new text": "新しいテキスト",
  },
  format: {
    days: ["日曜日", "月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"],
    shortDays: ["日", "月", "火", "水", "木", "金", "土"],
    months: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
    date: "%Y/%m/%d",
  },
});
