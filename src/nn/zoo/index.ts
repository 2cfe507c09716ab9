// The model zoo: Keras's ImageNet classifiers with their exact layer names, and a small CNN for
// 28×28 grey images. Weights are not allocated; load them or call initWeights().
export { vgg16, vgg19 } from './vgg.ts';
export { inceptionV3 } from './inception-v3.ts';
export { resnet50 } from './resnet.ts';
export { mobilenetV2, type MobileNetV2Options } from './mobilenet-v2.ts';
export { xception } from './xception.ts';
export { denseNet, densenet121, densenet169, densenet201 } from './densenet.ts';
export { fashionCnn } from './fashion-cnn.ts';
export { type ApplicationOptions } from './keras-graph.ts';
export { efficientnet, efficientnetB0, efficientnetB1, efficientnetB2, efficientnetB3, efficientnetB4, efficientnetB5, efficientnetB6, efficientnetB7, type EfficientNetOptions } from './efficientnet.ts';
